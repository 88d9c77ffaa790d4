output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's IAM role."
  value       = aws_iam_role.this.name
}

output "policy_json" {
  description = "The IAM policy document attached to the function's role."
  value       = data.aws_iam_policy_document.logs.json
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "package_path" {
  description = "Path of the zip package Terraform built for the function."
  value       = data.archive_file.package.output_path
}

output "rule_arns" {
  description = "ARNs of the EventBridge rules that invoke the function, by key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}
