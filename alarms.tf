################################################################################
# Alarms: the Terraform-owned alarms on the module itself - every function's Lambda errors and
# throttles, the monitor's own run errors (a heartbeat while it runs every 5 minutes) and messages
# waiting in the dead-letter queue - all notifying the topic (notifications.tf). Also the names of
# the per-resource alarms the monitor creates at run time ("<name>-<label>-<resource>", labels from
# the contract), which the IAM policies (iam.tf) and the teardown (teardown.tf) scope to.
################################################################################

locals {
  # The run-time alarms' name segments by resource kind (utilization, then idle) and all four;
  # every alarm of this deployment, run-time or Terraform-owned, starts with "<name>-".
  runtime_alarm_labels_by_kind = {
    for kind, labels in local.contract.alarm_labels : kind => [labels.utilization, labels.idle]
  }
  runtime_alarm_labels = concat(local.runtime_alarm_labels_by_kind.campaign, local.runtime_alarm_labels_by_kind.recommender)

  # Dead-letter queues (label => queue name); each gets an alarm below on messages waiting in it.
  # One queue serves every function that acts on events (dead_letters.tf).
  dead_letter_queue_names = { functions = aws_sqs_queue.dead_letters.name }

  # Runs of the monitor are expected every 5 minutes; with another schedule (a pause) a missing
  # errors datapoint is no longer a sign of trouble.
  monitor_heartbeat = var.monitor_schedule_expression == "rate(5 minutes)"
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${each.value.function_name}-Errors"
  alarm_description   = "The ${each.key} function of Personalize Monitor ${var.name} failed (Lambda Errors > 0 in 5 minutes); see its log group /aws/lambda/${each.value.function_name}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.notification_topic_arn]
  ok_actions          = [local.notification_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each = local.functions

  alarm_name          = "${each.value.function_name}-Throttles"
  alarm_description   = "The ${each.key} function of Personalize Monitor ${var.name} was throttled (Lambda Throttles > 0 in 5 minutes)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.notification_topic_arn]
  ok_actions          = [local.notification_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "monitor_errors" {
  alarm_name        = "${var.name}-monitor-RunErrors"
  alarm_description = "Personalize Monitor ${var.name}: regions or steps failed in 2 of the last 3 monitor runs (metric ${local.contract.metrics.errors})${local.monitor_heartbeat ? ", or runs did not complete" : ""}; see the monitor's log group."
  namespace         = local.contract.metric_namespace
  metric_name       = local.contract.metrics.errors
  statistic         = "Maximum"
  period            = 300
  # 2 of 3: one transient failure (after retries) does not page anyone.
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # Every completed run publishes its error count (0 when all is well): missing datapoints mean
  # the monitor did not run or did not finish.
  treat_missing_data = local.monitor_heartbeat ? "breaching" : "notBreaching"
  alarm_actions      = [local.notification_topic_arn]
  ok_actions         = [local.notification_topic_arn]
  tags               = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letter_queue" {
  for_each = local.dead_letter_queue_names

  alarm_name          = "${var.name}-${each.key}-DeadLetters"
  alarm_description   = "Events for the ${each.key} of Personalize Monitor ${var.name} could not be delivered or processed and wait in the dead-letter queue ${each.value}: replay them with scripts/replay_dead_letters.py (docs/reliability.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.notification_topic_arn]
  ok_actions          = [local.notification_topic_arn]
  tags                = var.tags
}
