output "function_names" {
  description = "Deployed function names by role."
  value       = module.personalize_monitor.function_names
}

output "role_arns" {
  description = "IAM role ARNs of the functions by role (path /personalize-monitor/, with the boundary)."
  value       = module.personalize_monitor.role_arns
}

output "log_group_names" {
  description = "Log groups of the functions (encrypted with the example's key)."
  value       = module.personalize_monitor.log_group_names
}

output "notification_topic_arn" {
  description = "The example's own topic, which the module notifies."
  value       = module.personalize_monitor.notification_topic_arn
}

output "notification_queue_url" {
  description = "Queue that receives every notification (an SQS subscription of the topic)."
  value       = aws_sqs_queue.notifications.id
}

output "dashboard_names" {
  description = "The Terraform-owned dashboard."
  value       = module.personalize_monitor.dashboard_names
}

output "health_alarm_names" {
  description = "Alarms on the module itself."
  value       = module.personalize_monitor.health_alarm_names
}

output "monitored_regions" {
  description = "Regions the monitor looks in."
  value       = module.personalize_monitor.monitored_regions
}

output "kms_key_arn" {
  description = "The customer managed key."
  value       = aws_kms_key.monitor.arn
}

output "layer_arn" {
  description = "ARN of the shared layer version."
  value       = module.personalize_monitor.layer_arn
}

output "package_paths" {
  description = "Local paths of the packages Terraform built, by role."
  value       = module.personalize_monitor.package_paths
}
