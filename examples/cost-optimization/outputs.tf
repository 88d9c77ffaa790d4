output "function_names" {
  description = "Deployed function names by role."
  value       = module.personalize_monitor.function_names
}

output "layer_arn" {
  description = "ARN of the shared layer version."
  value       = module.personalize_monitor.layer_arn
}

output "package_paths" {
  description = "Local paths of the packages Terraform built, by role."
  value       = module.personalize_monitor.package_paths
}

output "notification_topic_arn" {
  description = "SNS topic that receives alarms and action notifications."
  value       = module.personalize_monitor.notification_topic_arn
}

output "dashboard_names" {
  description = "CloudWatch dashboard page names."
  value       = module.personalize_monitor.dashboard_names
}
