################################################################################
# IAM: the policy of every function's role, least privilege throughout - Personalize actions only
# on the campaigns and recommenders in scope (main.tf), events only from the contract's source on
# the default bus, alarms only the deployment's own ("<name>-" and the run-time labels), queues
# only the module's. The monitor's policy is the discovery statements plus its metrics, alarms,
# cost checks and dashboard statements; each action function gets the common statements, its own
# command queue and its one Personalize change. The roles themselves are created by
# modules/lambda-function; the queue and topic resource policies sit with their resources
# (commands.tf, dead_letters.tf, notifications.tf).
################################################################################

################################################################################
# Discovery: shared by the monitor and the dashboard function
################################################################################

# Discovery, shared by the monitor and the dashboard function (personalize_monitor.discovery).
data "aws_iam_policy_document" "discovery" {
  statement {
    sid = "ListInferenceResources"
    # List* have no resource-level permissions in Personalize.
    actions   = ["personalize:ListCampaigns", "personalize:ListRecommenders"]
    resources = ["*"]
  }

  dynamic "statement" {
    # None with campaign_arns = [] (IAM rejects a statement without resources).
    for_each = length(local.campaign_resources) > 0 ? [1] : []
    content {
      sid = "DescribeMonitoredCampaigns"
      # Recommenders need no describe: ListRecommenders returns their configuration.
      actions   = ["personalize:DescribeCampaign"]
      resources = local.campaign_resources
    }
  }

  lifecycle {
    # Otherwise the dashboard's DescribeSolutionVersions has no resources and IAM rejects the
    # policy at apply.
    precondition {
      condition     = length(concat(local.campaign_resources, local.recommender_resources)) > 0
      error_message = "The campaign_arns and recommender_arns cannot both be [] (there would be nothing to monitor): use [\"all\"] or list ARNs in at least one of them."
    }
  }
}

################################################################################
# Monitor
################################################################################

data "aws_iam_policy_document" "monitor" {
  statement {
    sid = "ReadRequestMetrics"
    # GetMetricData has no resource-level permissions.
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteMonitorMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.contract.metric_namespace]
    }
  }

}

data "aws_iam_policy_document" "monitor_alarms" {
  statement {
    sid = "AlarmsList"
    # One DescribeAlarms by name prefix per run; the prefix can also return the Terraform-owned
    # alarms (alarms.tf), so the read scope is every "<name>-" alarm (metric alarms only: composite
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

data "aws_iam_policy_document" "monitor_actions" {
  statement {
    sid = "CostChecksReadProtectionTags"
    # The protection tag is read before any command is sent (cached per ARN and update time).
    # ListTagsForResource has no resource-level permissions in Personalize.
    actions   = ["personalize:ListTagsForResource"]
    resources = ["*"]
  }

  statement {
    sid       = "CostChecksSendCommands"
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = values(local.command_queue_arns)
  }

  dynamic "statement" {
    # Messages to queues encrypted with a customer managed key.
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "CostChecksEncryptCommands"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

data "aws_iam_policy_document" "monitor_dashboard" {
  count = var.create_dashboard ? 1 : 0

  statement {
    sid       = "ReadDashboardPages"
    actions   = ["cloudwatch:GetDashboard"]
    resources = [local.dashboard_arn_pattern]
  }

  statement {
    sid = "ListDashboardPages"
    # ListDashboards has no resource-level permissions.
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid       = "RequestDashboardBuild"
    actions   = ["events:PutEvents"]
    resources = [local.default_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:detail-type"
      values   = [local.contract.detail_types.build_dashboard]
    }
  }
}

# Every statement of the monitor: discovery, metrics, run-time alarms, cost checks, dashboard (unique Sids).
data "aws_iam_policy_document" "monitor_combined" {
  source_policy_documents = compact([
    data.aws_iam_policy_document.discovery.json,
    data.aws_iam_policy_document.monitor.json,
    data.aws_iam_policy_document.monitor_alarms.json,
    data.aws_iam_policy_document.monitor_actions.json,
    var.create_dashboard ? data.aws_iam_policy_document.monitor_dashboard[0].json : "",
  ])
}

################################################################################
# Action functions: common statements, own command queue, one Personalize change each
################################################################################

data "aws_iam_policy_document" "action_common" {
  statement {
    sid = "ReadProtectionTags"
    # Read fresh before every change; ListTagsForResource has no resource-level permissions.
    actions   = ["personalize:ListTagsForResource"]
    resources = ["*"]
  }

  statement {
    sid = "ReadRequestMetrics"
    # GetMetricData has no resource-level permissions.
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  statement {
    sid       = "PublishNotifications"
    actions   = ["events:PutEvents"]
    resources = [local.default_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [local.contract.event_source]
    }
  }

  statement {
    # The notification text goes to the topic from the functions themselves (no rule listens to
    # the default bus for it), so only the module writes to the topic's subscribers.
    sid       = "NotifyTopic"
    actions   = ["sns:Publish"]
    resources = [local.topic_arn]
  }

  lifecycle {
    precondition {
      condition     = local.create_topic || split(":", coalesce(var.sns_topic_arn, "a:b:c:d"))[3] == local.home_region
      error_message = "The sns_topic_arn must be a topic in the provider's region (${local.home_region}): CloudWatch alarms can only notify topics in their own region."
    }
  }

  dynamic "statement" {
    # The module's topic and command queues are encrypted with kms_key_arn when it is set.
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseModuleKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

# Receiving from its own command queue (the event source mapping polls with the function's role);
# the retiring functions may also send a command back to it.
data "aws_iam_policy_document" "command_queue" {
  for_each = local.command_queue_arns

  statement {
    sid       = "ReceiveOwnCommands"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [each.value]
  }

  dynamic "statement" {
    for_each = contains(local.deferring_roles, each.key) ? [each.value] : []
    content {
      sid       = "DeferOwnCommands"
      actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
      resources = [statement.value]
    }
  }
}

data "aws_iam_policy_document" "update_tps" {
  source_policy_documents = [data.aws_iam_policy_document.action_common.json, data.aws_iam_policy_document.command_queue["update_tps"].json]

  dynamic "statement" {
    for_each = length(local.campaign_resources) > 0 ? [1] : []
    content {
      sid       = "UpdateCampaignsInScope"
      actions   = ["personalize:DescribeCampaign", "personalize:UpdateCampaign"]
      resources = local.campaign_resources
    }
  }

  dynamic "statement" {
    for_each = length(local.recommender_resources) > 0 ? [1] : []
    content {
      sid       = "UpdateRecommendersInScope"
      actions   = ["personalize:DescribeRecommender", "personalize:UpdateRecommender"]
      resources = local.recommender_resources
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.scheduled_out_of_scope) == 0
      error_message = "Every scheduled_capacity arn must be in scope (listed in campaign_arns / recommender_arns, or in var.regions of this account with [\"all\"]); out of scope: ${join(", ", local.scheduled_out_of_scope)}."
    }
  }
}

data "aws_iam_policy_document" "delete_campaign" {
  source_policy_documents = [data.aws_iam_policy_document.action_common.json, data.aws_iam_policy_document.command_queue["delete_campaign"].json]

  dynamic "statement" {
    for_each = length(local.campaign_resources) > 0 ? [1] : []
    content {
      sid       = "DeleteCampaignsInScope"
      actions   = ["personalize:DescribeCampaign", "personalize:DeleteCampaign"]
      resources = local.campaign_resources
    }
  }

  statement {
    sid       = "FindOwnAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.alarm_arn_prefix}*"]
  }

  statement {
    sid       = "DeleteOwnCampaignAlarms"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource"]
    resources = [for label in local.runtime_alarm_labels_by_kind.campaign : "${local.alarm_arn_prefix}${label}-*"]
  }
}

data "aws_iam_policy_document" "stop_recommender" {
  source_policy_documents = [data.aws_iam_policy_document.action_common.json, data.aws_iam_policy_document.command_queue["stop_recommender"].json]

  dynamic "statement" {
    for_each = length(local.recommender_resources) > 0 ? [1] : []
    content {
      sid       = "StopRecommendersInScope"
      actions   = ["personalize:DescribeRecommender", "personalize:StopRecommender"]
      resources = local.recommender_resources
    }
  }

  statement {
    sid       = "FindOwnAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.alarm_arn_prefix}*"]
  }

  statement {
    sid       = "DeleteOwnRecommenderAlarms"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource"]
    resources = [for label in local.runtime_alarm_labels_by_kind.recommender : "${local.alarm_arn_prefix}${label}-*"]
  }
}

################################################################################
# Dashboard function
################################################################################

data "aws_iam_policy_document" "dashboard" {
  count = var.create_dashboard ? 1 : 0

  # The pages list every monitored resource, found the way the monitor finds them.
  source_policy_documents = [data.aws_iam_policy_document.discovery.json]

  statement {
    sid = "DescribeSolutionVersions"
    # The dataset group and recipe (latency metric) of each campaign; the monitor needs neither
    # (it reads both request metrics of a campaign).
    actions   = ["personalize:DescribeSolutionVersion"]
    resources = local.solution_resources
  }

  statement {
    sid = "WriteDashboardPages"
    # The function never reads a page back (only the monitor does, see monitor_dashboard).
    actions   = ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = [local.dashboard_arn_pattern]
  }

  statement {
    sid = "ListDashboardPages"
    # ListDashboards has no resource-level permissions.
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid = "ReadModuleAlarms"
    # One DescribeAlarms by name prefix "<name>-" (personalize_monitor.dashboard module_alarms).
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["${local.alarm_arn_prefix}*"]
  }
}
