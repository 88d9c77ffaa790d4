output "function_names" {
  description = "Deployed Lambda function names by role (monitor, ...)."
  value       = { for role, f in local.functions : role => f.function_name }
}

output "function_arns" {
  description = "Deployed Lambda function ARNs by role."
  value       = { for role, f in local.functions : role => f.function_arn }
}

output "role_arns" {
  description = "IAM role ARNs of the functions by role."
  value       = { for role, f in local.functions : role => f.role_arn }
}

output "log_group_names" {
  description = "CloudWatch log group names of the functions by role."
  value       = { for role, f in local.functions : role => f.log_group_name }
}

output "layer_arn" {
  description = "ARN of the shared layer version the functions use."
  value       = aws_lambda_layer_version.shared.arn
}

output "monitored_regions" {
  description = "Regions the monitor looks in (var.regions, or the provider's region, plus the regions of explicit ARNs)."
  value       = local.monitored_regions
}

output "package_paths" {
  description = "Local paths of the zip packages Terraform built, by role (\"layer\" for the shared layer)."
  value       = merge({ layer = data.archive_file.layer.output_path }, { for role, f in local.functions : role => f.package_path })
}
