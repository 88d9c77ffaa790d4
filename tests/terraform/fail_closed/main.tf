# The fail-closed end-to-end test's deployment (tests/e2e/test_fail_closed_e2e.py): both cost
# switches on, a 6-hour idle threshold, one named command principal, and the seed's default-bus
# commands switched by a variable (off by default, as in the module).
provider "aws" {
  region = "us-east-1"
}

variable "accept_default_bus_commands" {
  description = "Passed to the module (the test applies it both ways)."
  type        = bool
  default     = false
}

resource "aws_iam_role" "ml_ops" {
  name               = "SafeE2E-ml-ops"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { AWS = "arn:aws:iam::123456789012:root" } }] })
}

module "personalize_monitor" {
  source = "../../.."

  name                               = "SafeE2E"
  auto_adjust_min_tps                = true
  auto_delete_or_stop_idle_resources = true
  idle_threshold_hours               = 6
  create_dashboard                   = false
  command_principals                 = [aws_iam_role.ml_ops.arn]
  accept_default_bus_commands        = var.accept_default_bus_commands
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

output "command_queue_urls" {
  value = module.personalize_monitor.command_queue_urls
}

output "ml_ops_role_arn" {
  value = aws_iam_role.ml_ops.arn
}
