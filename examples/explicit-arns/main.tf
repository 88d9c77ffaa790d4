provider "aws" {
  region = "us-east-1"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Replace with your own resources. Only these are monitored (any other campaign or recommender is
  # ignored), and the functions' IAM policies name exactly these ARNs. Each ARN's region is monitored
  # (here us-east-1 and eu-west-1), whatever var.regions says.
  arn_prefix = "arn:${data.aws_partition.current.partition}:personalize"
  account_id = data.aws_caller_identity.current.account_id

  campaign_arns = [
    "${local.arn_prefix}:us-east-1:${local.account_id}:campaign/shop-home",
    "${local.arn_prefix}:us-east-1:${local.account_id}:campaign/shop-rerank",
    "${local.arn_prefix}:eu-west-1:${local.account_id}:campaign/eu-similar-items",
  ]
  recommender_arns = [
    "${local.arn_prefix}:eu-west-1:${local.account_id}:recommender/eu-top-picks",
  ]
}

# Deployed in us-east-1; metrics, alarms and notifications for both regions live there.
module "personalize_monitor" {
  source = "../.."

  campaign_arns    = local.campaign_arns
  recommender_arns = local.recommender_arns
}
