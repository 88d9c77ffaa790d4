output "workspace" {
  description = "The workspace (and so the account) this state deploys to."
  value       = terraform.workspace
}

output "account_id" {
  description = "Account the module was deployed into."
  value       = local.settings.account_id
}

output "function_names" {
  description = "Deployed function names by role."
  value       = module.personalize_monitor.function_names
}

output "function_arns" {
  description = "Deployed function ARNs by role (they carry the account id)."
  value       = module.personalize_monitor.function_arns
}

output "notification_topic_arn" {
  description = "The account's notification topic."
  value       = module.personalize_monitor.notification_topic_arn
}

output "monitored_regions" {
  description = "Regions the monitor looks in."
  value       = module.personalize_monitor.monitored_regions
}

output "layer_arn" {
  description = "ARN of the shared layer version."
  value       = module.personalize_monitor.layer_arn
}

output "package_paths" {
  description = "Local paths of the packages Terraform built, by role."
  value       = module.personalize_monitor.package_paths
}
