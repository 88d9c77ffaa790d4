# One configuration, one workspace per AWS account:
#
#   terraform workspace new dev  && terraform apply   # deploys into the dev account
#   terraform workspace new prod && terraform apply   # deploys into the prod account
#
# Each workspace has its own state. Terraform runs with credentials of a central (CI or
# tooling) account and assumes the workspace's deployment role in the target account.
locals {
  # Per-workspace settings. The default workspace is deliberately absent: running in it fails
  # at plan instead of deploying into an unintended account.
  workspaces = {
    dev = {
      account_id = "111111111111"
      role_arn   = "arn:aws:iam::111111111111:role/PersonalizeMonitorDeployer"
      regions    = ["us-east-1"]
      # Experiments are cheap to recreate: delete idle campaigns and stop idle recommenders
      # after 8 hours without a request.
      auto_delete_or_stop_idle_resources = true
      idle_threshold_hours               = 8
      utilization_threshold_percent      = 50
      notification_emails                = ["ml-dev@example.com"]
    }
    prod = {
      account_id = "222222222222"
      role_arn   = "arn:aws:iam::222222222222:role/PersonalizeMonitorDeployer"
      regions    = ["us-east-1", "eu-west-1"]
      # Production resources are never deleted or stopped by the module; idle ones alarm.
      auto_delete_or_stop_idle_resources = false
      idle_threshold_hours               = 24
      utilization_threshold_percent      = 100
      notification_emails                = ["ml-ops@example.com"]
    }
  }

  settings = local.workspaces[terraform.workspace]
}

provider "aws" {
  region = "us-east-1"
  # Refuse to touch any other account, whatever the credentials or the role resolve to.
  allowed_account_ids = [local.settings.account_id]

  assume_role {
    role_arn     = local.settings.role_arn
    session_name = "personalize-monitor-${terraform.workspace}"
  }
}

module "personalize_monitor" {
  source = "../.."

  regions                            = local.settings.regions
  auto_delete_or_stop_idle_resources = local.settings.auto_delete_or_stop_idle_resources
  idle_threshold_hours               = local.settings.idle_threshold_hours
  utilization_threshold_percent      = local.settings.utilization_threshold_percent
  notification_emails                = local.settings.notification_emails

  # The destroy-time teardown (alarms and dashboard pages the functions created at run time)
  # assumes the same role as the provider, so it acts in the workspace's account.
  cleanup_role_arn = local.settings.role_arn

  tags = {
    Environment = terraform.workspace
    ManagedBy   = "terraform"
  }
}
