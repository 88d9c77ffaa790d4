# tests/e2e/test_concurrency.py: reserved concurrency off (the default) and on, and overlapping
# monitor runs with it off. Both cost switches are on, so that overlapping runs make decisions.
provider "aws" {
  region = "us-east-1"
}

variable "monitor_reserved_concurrency" {
  type    = number
  default = null
}

variable "dashboard_reserved_concurrency" {
  type    = number
  default = null
}

module "personalize_monitor" {
  source = "../../.."

  name                               = "Overlap"
  auto_adjust_min_tps                = true
  auto_delete_or_stop_idle_resources = true
  idle_threshold_hours               = 6
  monitor_reserved_concurrency       = var.monitor_reserved_concurrency
  dashboard_reserved_concurrency     = var.dashboard_reserved_concurrency
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
