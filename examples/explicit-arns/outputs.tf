output "function_names" {
  description = "Deployed function names by role."
  value       = module.personalize_monitor.function_names
}

output "monitored_regions" {
  description = "Regions the monitor looks in: those of the listed ARNs."
  value       = module.personalize_monitor.monitored_regions
}

output "role_arns" {
  description = "IAM role ARNs of the functions by role (their policies name the listed ARNs only)."
  value       = module.personalize_monitor.role_arns
}

output "layer_arn" {
  description = "ARN of the shared layer version."
  value       = module.personalize_monitor.layer_arn
}

output "package_paths" {
  description = "Local paths of the packages Terraform built, by role."
  value       = module.personalize_monitor.package_paths
}
