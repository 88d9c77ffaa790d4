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

output "notification_topic_arn" {
  description = "SNS topic that every alarm (all monitored regions) and every notification event notifies: the one the module created, or var.sns_topic_arn."
  value       = local.notification_topic_arn
}

output "command_queue_urls" {
  description = "SQS command queue of each action function by role (update_tps, delete_campaign, stop_recommender): the only way commands reach them besides scheduled_capacity, direct invocation and (opt-in) the default bus. The monitor and command_principals may send to them; everyone else is denied."
  value       = { for role, q in aws_sqs_queue.commands : role => q.id }
}

output "health_alarm_names" {
  description = "Names of the Terraform-owned alarms on the module itself (function errors and throttles, monitor run errors, dead-letter queues). The per-resource alarms are created at run time by the monitor."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.function_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function_throttles : a.alarm_name],
    [aws_cloudwatch_metric_alarm.monitor_errors.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dead_letter_queue : a.alarm_name],
  )
}

output "package_paths" {
  description = "Local paths of the zip packages Terraform built, by role (\"layer\" for the shared layer)."
  value       = merge({ layer = data.archive_file.layer.output_path }, { for role, f in local.functions : role => f.package_path })
}

output "dashboard_names" {
  description = "CloudWatch dashboard created by Terraform (empty when create_dashboard is false). Large fleets get extra pages named <dashboard>-2, <dashboard>-3, ... at run time."
  value       = var.create_dashboard ? [local.dashboard_name] : []
}

output "dead_letter_queue_url" {
  description = "SQS queue that keeps, for 4 days, the events the action and dashboard functions could not process (after retries); replay them with scripts/replay_dead_letters.py."
  value       = aws_sqs_queue.dead_letters.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.arn
}
