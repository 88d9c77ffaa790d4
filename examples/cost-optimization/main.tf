provider "aws" {
  region = "us-east-1"
}

# Watch two regions and let the module cut waste by itself: over-provisioned minimums step
# down 25 % an hour to their 14-day low watermark, campaigns idle for 12 hours are deleted and
# idle recommenders stopped. Resources tagged PersonalizeMonitor:Protect are never changed.
module "personalize_monitor" {
  source = "../.."

  regions = ["us-east-1", "eu-west-1"]

  auto_adjust_min_tps                = true
  auto_delete_or_stop_idle_resources = true
  idle_threshold_hours               = 12
  protection_tag_key                 = "PersonalizeMonitor:Protect"

  notification_emails = ["ml-ops@example.com"]

  tags = {
    Team = "ml-platform"
  }
}
