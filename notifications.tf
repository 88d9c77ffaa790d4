################################################################################
# Notifications, alarms on the module itself, and teardown
#
# Everything notifies ONE SNS topic in the provider's (home) region, whatever the number of
# monitored regions: the monitor publishes every PersonalizeMonitor metric to the home region
# with the resource ARN (which carries the resource's region) as dimension, so the alarms it
# creates at run time for every resource (functions/layer/python/personalize_monitor/alarms.py)
# live in the home region too; so do the alarms below on the module's own functions. The action
# functions write their notifications to the topic themselves (and put the seed's notification
# events on the default bus for the users' own rules): no rule routes bus events to the topic, so
# an event someone else puts on the bus never reaches a subscriber. Only the module's own alarms
# and functions can publish. One topic, one confirmation per subscriber.
# See docs/alarms-and-notifications.md.
################################################################################

locals {
  create_topic = var.sns_topic_arn == null
  topic_name   = var.name == "PersonalizeMonitor" ? "PersonalizeMonitorNotifications" : "${var.name}-Notifications"
  topic_arn    = local.create_topic ? aws_sns_topic.notifications[0].arn : var.sns_topic_arn

  # Read through terraform_data.teardown: every function gets the topic in its environment
  # (main.tf), so every function - and every alarm below - depends on the teardown resource and
  # is destroyed BEFORE its destroy-time cleanup runs: no monitor run can recreate an alarm
  # behind the cleanup. (`input` is known at plan time, unlike `output`.)
  notification_topic_arn = terraform_data.teardown.input.topic_arn

  # Alarms this deployment owns: the run-time ones (one name segment per kind, see alarms.py
  # LABELS) and the Terraform-owned ones below all start with "<name>-".
  alarm_arn_prefix     = "arn:${local.partition}:cloudwatch:${local.home_region}:${local.account_id}:alarm:${var.name}-"
  runtime_alarm_labels = ["LowCampaignUtilization", "IdleCampaign", "LowRecommenderUtilization", "IdleRecommender"]

  monitor_alarms_policy_json = data.aws_iam_policy_document.monitor_alarms.json

  subscriptions = merge(
    { for e in var.notification_emails : "email ${e}" => { protocol = "email", endpoint = e, subscription_role_arn = null } },
    { for s in var.notification_subscriptions : "${s.protocol} ${s.endpoint}" => s },
  )

  # Dead-letter queues (label => queue name); each gets an alarm below on messages waiting in it.
  # One queue serves every function that acts on events (reliability.tf).
  dead_letter_queue_names = { functions = aws_sqs_queue.dead_letters.name }

  # Runs of the monitor are expected every 5 minutes; with another schedule (a pause) a missing
  # monitorErrors datapoint is no longer a sign of trouble.
  monitor_heartbeat = var.monitor_schedule_expression == "rate(5 minutes)"
}

################################################################################
# Topic, subscriptions, topic policy
################################################################################

resource "aws_sns_topic" "notifications" {
  count = local.create_topic ? 1 : 0

  name              = local.topic_name
  display_name      = "Personalize Monitor"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  count = local.create_topic ? 1 : 0

  # Nobody may publish over plain HTTP (AWS's own advice for SNS: deny Publish unless
  # aws:SecureTransport is true, https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html#enforce-encryption-data-in-transit).
  # CloudWatch alarms and the AWS SDKs always use TLS.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications[0].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "AllowAccountAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.alarm_arn_prefix}*"]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  count = local.create_topic ? 1 : 0

  arn    = aws_sns_topic.notifications[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

resource "aws_sns_topic_subscription" "notifications" {
  for_each = local.subscriptions

  topic_arn             = local.topic_arn
  protocol              = each.value.protocol
  endpoint              = each.value.endpoint
  subscription_role_arn = each.value.subscription_role_arn
}

################################################################################
# Alarms on the module itself (Terraform-owned): every function's errors and throttles,
# the monitor's own error count, and (hook for issue 8) the dead-letter queues.
################################################################################

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
  alarm_description = "Personalize Monitor ${var.name}: regions or steps failed in 2 of the last 3 monitor runs (metric monitorErrors)${local.monitor_heartbeat ? ", or runs did not complete" : ""}; see the monitor's log group."
  namespace         = "PersonalizeMonitor"
  metric_name       = "monitorErrors"
  statistic         = "Maximum"
  period            = 300
  # 2 of 3: one transient failure (after retries) does not page anyone.
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # Every completed run publishes monitorErrors (0 when all is well): missing datapoints mean
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

################################################################################
# The monitor's permissions for its run-time alarms (merged into its policy in main.tf)
################################################################################

data "aws_iam_policy_document" "monitor_alarms" {
  statement {
    sid = "AlarmsList"
    # One DescribeAlarms by name prefix per run; the prefix can also return the Terraform-owned
    # alarms above, so the read scope is every "<name>-" alarm (metric alarms only: composite
    # alarms would need "*").
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.alarm_arn_prefix}*"]
  }

  statement {
    sid       = "AlarmsWrite"
    actions   = ["cloudwatch:PutMetricAlarm"]
    resources = [for label in local.runtime_alarm_labels : "${local.alarm_arn_prefix}${label}-*"]

    # Run-time alarms may only notify the module's topic.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "cloudwatch:AlarmActions"
      values   = [local.topic_arn]
    }
  }

  statement {
    sid       = "AlarmsTagAndDelete"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"]
    resources = [for label in local.runtime_alarm_labels : "${local.alarm_arn_prefix}${label}-*"]
  }
}

################################################################################
# Teardown: on destroy, delete what the functions created at run time
#
# Terraform (aws provider 3.39) cannot invoke a Lambda function on destroy, so a destroy-time
# local-exec runs scripts/teardown.py (python3 + boto3) on the machine running Terraform, with
# the credentials of var.cleanup_profile or of its environment (not those written only in the
# provider block: it stops at once and says what to set when it finds none; it never asks the
# instance metadata service unless var.cleanup_use_instance_metadata). The script checks the
# account through STS and refuses to act in another one, then deletes the alarms whose names
# match this deployment's run-time alarms AND that carry the tag CreatedBy=<name>, and the extra
# dashboard pages "<dashboard>-<n>" the dashboard function creates. Functions and alarms read the
# topic through this resource (local.notification_topic_arn), so they are gone before it runs.
# Switching cleanup_on_destroy off updates `input` in place: the next destroy then skips.
# Renaming the deployment replaces it, so the old name's run-time alarms are removed too.
################################################################################

resource "terraform_data" "teardown" {
  # A new name (or account/region) replaces this resource: the old instance's destroy-time
  # cleanup runs with the OLD settings, removing what the functions created under the old name.
  triggers_replace = {
    name    = var.name
    region  = local.home_region
    account = local.account_id
  }

  input = {
    topic_arn = local.topic_arn
    python    = var.cleanup_python
    config = jsonencode({
      enabled           = var.cleanup_on_destroy
      name              = var.name
      region            = local.home_region
      account           = local.account_id
      alarm_labels      = local.runtime_alarm_labels
      created_by_tag    = "CreatedBy"
      dashboard_name    = local.dashboard_name
      role_arn          = var.cleanup_role_arn
      profile           = var.cleanup_profile
      instance_metadata = var.cleanup_use_instance_metadata
    })
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    command     = <<-EOT
      if ! command -v "$PM_TEARDOWN_PYTHON" >/dev/null 2>&1; then
        echo "personalize-monitor teardown: '$PM_TEARDOWN_PYTHON' was not found. Install Python 3 with boto3 (or set cleanup_python), or set cleanup_on_destroy = false and apply before destroying, then run $PM_TEARDOWN_SCRIPT yourself." >&2
        exit 1
      fi
      exec "$PM_TEARDOWN_PYTHON" "$PM_TEARDOWN_SCRIPT" </dev/null
    EOT
    environment = {
      PM_TEARDOWN_CONFIG = self.input.config
      PM_TEARDOWN_PYTHON = self.input.python
      PM_TEARDOWN_SCRIPT = "${path.module}/scripts/teardown.py"
    }
  }
}
