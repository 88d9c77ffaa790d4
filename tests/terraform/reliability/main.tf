# The reliability suite's deployment (tests/reliability): dead-letter queue wiring and replay,
# least privilege (the rendered policies against the calls the functions make), the largest
# settings the module accepts (tests/reliability/test_limits.py plans it with -var) and other
# partitions (tests/reliability/test_partitions.py).
provider "aws" {
  region = var.aws_region
}

# Another partition's region (cn-north-1, us-gov-west-1) for tests/reliability/test_partitions.py.
variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  type    = string
  default = "RelE2E"
}

variable "regions" {
  type    = list(string)
  default = []
}

variable "campaign_arns" {
  type    = list(string)
  default = ["all"]
}

variable "recommender_arns" {
  type    = list(string)
  default = ["all"]
}

variable "idle_threshold_hours" {
  type    = number
  default = 6
}

variable "utilization_threshold_percent" {
  type    = number
  default = 100
}

variable "scheduled_capacity" {
  type = list(object({
    arn                 = string
    schedule_expression = string
    min_tps             = number
    description         = optional(string, "")
  }))
  default = []
}

variable "tags" {
  type    = map(string)
  default = {}
}

module "personalize_monitor" {
  source = "../../.."

  name                               = var.name
  regions                            = var.regions
  campaign_arns                      = var.campaign_arns
  recommender_arns                   = var.recommender_arns
  idle_threshold_hours               = var.idle_threshold_hours
  utilization_threshold_percent      = var.utilization_threshold_percent
  scheduled_capacity                 = var.scheduled_capacity
  tags                               = var.tags
  auto_delete_or_stop_idle_resources = true
  # The seed's default-bus commands on as well: their rules' retries and dead letters are under test.
  accept_default_bus_commands = true
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

output "dead_letter_queue_url" {
  value = module.personalize_monitor.dead_letter_queue_url
}

output "dead_letter_queue_arn" {
  value = module.personalize_monitor.dead_letter_queue_arn
}

output "health_alarm_names" {
  value = module.personalize_monitor.health_alarm_names
}

output "dashboard_names" {
  value = module.personalize_monitor.dashboard_names
}
