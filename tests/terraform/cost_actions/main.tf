# The cost-actions end-to-end test's deployment (tests/e2e/test_cost_actions_e2e.py): both
# switches on, a 6-hour idle threshold, no dashboard (not under test here), and a pre-warm /
# scale-back schedule for one campaign.
provider "aws" {
  region = "us-east-1"
}

module "personalize_monitor" {
  source = "../../.."

  name                               = "CostE2E"
  auto_adjust_min_tps                = true
  auto_delete_or_stop_idle_resources = true
  idle_threshold_hours               = 6
  create_dashboard                   = false

  scheduled_capacity = [
    {
      arn                 = "arn:aws:personalize:us-east-1:123456789012:campaign/sched-1"
      schedule_expression = "cron(30 7 ? * MON-FRI *)"
      min_tps             = 40
      description         = "pre-warm for the morning peak"
    },
    {
      arn                 = "arn:aws:personalize:us-east-1:123456789012:campaign/sched-1"
      schedule_expression = "cron(0 20 ? * MON-FRI *)"
      min_tps             = 30
    },
  ]
}

output "function_names" {
  value = module.personalize_monitor.function_names
}

output "layer_arn" {
  value = module.personalize_monitor.layer_arn
}

output "package_paths" {
  value = module.personalize_monitor.package_paths
}

output "notification_topic_arn" {
  value = module.personalize_monitor.notification_topic_arn
}
