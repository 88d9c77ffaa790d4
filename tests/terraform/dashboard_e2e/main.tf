# The dashboard end-to-end test's deployment: two regions, idle campaigns deleted after an hour
# (so the delete action flow can run), no min-TPS step-down (keeps the seeded fleet as it is).
provider "aws" {
  region = "us-east-1"
}

module "personalize_monitor" {
  source = "../../.."

  regions                            = ["us-east-1", "eu-west-1"]
  auto_delete_or_stop_idle_resources = true
  auto_adjust_min_tps                = false
  idle_threshold_hours               = 1
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

output "dashboard_names" {
  value = module.personalize_monitor.dashboard_names
}
