# The alarms and notifications end-to-end test's deployment (tests/e2e/test_alarms_e2e.py): two
# regions, the notification and alarm settings as variables so the test can change them between
# applies, and no min-TPS step-down (keeps the seeded fleet as it is).
provider "aws" {
  region = "us-east-1"
}

variable "name" {
  type    = string
  default = "PersonalizeMonitor"
}

variable "regions" {
  type    = list(string)
  default = ["us-east-1", "eu-west-1"]
}

variable "notification_emails" {
  type    = list(string)
  default = []
}

variable "notification_subscriptions" {
  type = list(object({
    protocol              = string
    endpoint              = string
    subscription_role_arn = optional(string)
  }))
  default = []
}

variable "sns_topic_arn" {
  type    = string
  default = null
}

variable "utilization_threshold_percent" {
  type    = number
  default = 100
}

variable "idle_threshold_hours" {
  type    = number
  default = 24
}

variable "auto_create_utilization_alarms" {
  type    = bool
  default = true
}

variable "auto_create_idle_alarms" {
  type    = bool
  default = true
}

variable "cleanup_on_destroy" {
  type    = bool
  default = true
}

module "personalize_monitor" {
  source = "../../.."

  name                           = var.name
  regions                        = var.regions
  notification_emails            = var.notification_emails
  notification_subscriptions     = var.notification_subscriptions
  sns_topic_arn                  = var.sns_topic_arn
  utilization_threshold_percent  = var.utilization_threshold_percent
  idle_threshold_hours           = var.idle_threshold_hours
  auto_create_utilization_alarms = var.auto_create_utilization_alarms
  auto_create_idle_alarms        = var.auto_create_idle_alarms
  cleanup_on_destroy             = var.cleanup_on_destroy
  auto_adjust_min_tps            = false
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

output "log_group_names" {
  value = module.personalize_monitor.log_group_names
}

output "notification_topic_arn" {
  value = module.personalize_monitor.notification_topic_arn
}

output "health_alarm_names" {
  value = module.personalize_monitor.health_alarm_names
}

output "dashboard_names" {
  value = module.personalize_monitor.dashboard_names
}
