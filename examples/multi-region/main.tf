provider "aws" {
  region = "us-east-1"
}

# One deployment in us-east-1 watches every campaign and recommender in three regions.
# Metrics, alarms and notifications for all three live in us-east-1.
module "personalize_monitor" {
  source = "../.."

  regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
}
