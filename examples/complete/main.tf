provider "aws" {
  region = "us-east-1"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "ShopPersonalizeMonitor"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  tags = {
    Project     = "shop-recommendations"
    Environment = "production"
    ManagedBy   = "terraform"
  }
}

# Every variable of the module is set below; see README.md for what each group does.
module "personalize_monitor" {
  source = "../.."

  # Naming and scope: every active campaign and recommender in two regions.
  name             = local.name
  regions          = ["us-east-1", "eu-west-1"]
  campaign_arns    = ["all"]
  recommender_arns = ["all"]
  tags             = local.tags

  # Functions.
  lambda_runtime              = "python3.12"
  monitor_schedule_expression = "rate(5 minutes)"
  monitor_timeout             = 180
  monitor_memory_size         = 512
  log_retention_days          = 90
  kms_key_arn                 = aws_kms_key.monitor.arn
  permissions_boundary_arn    = aws_iam_policy.boundary.arn
  iam_role_path               = "/personalize-monitor/"
  # Quieter logs, and slower discovery: other tools share the account's describe quota.
  log_level                = "WARNING"
  describe_rate_per_second = 5

  # Metrics and alarms. The rate and utilization are stored: the alarms then cover both regions
  # ("metric_math" would store the minimum only and alarm on us-east-1's resources alone).
  publish_derived_metrics        = true
  derived_metrics                = "stored"
  auto_create_utilization_alarms = true
  utilization_threshold_percent  = 80
  auto_create_idle_alarms        = true
  idle_threshold_hours           = 48
  alarm_writes_per_second        = 3

  # Notifications: our own encrypted topic (built from known parts so that Terraform knows it at
  # plan time; referencing the resource's name orders the topic before the module).
  sns_topic_arn       = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${aws_sns_topic.alerts.name}"
  notification_emails = ["ml-ops@example.com"]
  notification_subscriptions = [
    { protocol = "sqs", endpoint = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${aws_sqs_queue.notifications.name}" },
  ]

  # Cost actions: announce every decision first (dry_run), never delete or stop; pre-warm the
  # storefront campaign before business hours and scale it back in the evening.
  auto_adjust_min_tps                = true
  auto_delete_or_stop_idle_resources = false
  dry_run                            = true
  protection_tag_key                 = "PersonalizeMonitor:Protect"
  # Besides the module's own monitor, only the team's automation role may send commands (to the
  # command queues); command events on the default bus are not acted on.
  command_principals             = [aws_iam_role.ml_ops.arn]
  accept_default_bus_commands    = false
  campaign_price_per_tps_hour    = 0.2
  recommender_price_per_rps_hour = 0.2
  scheduled_capacity = [
    {
      arn                 = "arn:${local.partition}:personalize:us-east-1:${local.account_id}:campaign/shop-home"
      schedule_expression = "cron(45 6 ? * MON-FRI *)"
      min_tps             = 20
      description         = "Storefront opens at 07:00 UTC"
    },
    {
      arn                 = "arn:${local.partition}:personalize:us-east-1:${local.account_id}:campaign/shop-home"
      schedule_expression = "cron(0 20 ? * MON-FRI *)"
      min_tps             = 5
      description         = "Evening baseline"
    },
  ]

  # Dashboard.
  create_dashboard = true

  # Reserved concurrency: none by default. One monitor run and one dashboard build at a time
  # here; Lambda accepts these only where the account's concurrency quota leaves 100 executions
  # unreserved after them (new accounts often have a quota of 10: leave both null there).
  monitor_reserved_concurrency   = 1
  dashboard_reserved_concurrency = 1

  # Teardown of what the functions create at run time, on terraform destroy. It runs outside
  # the aws provider: give it the provider's profile (and the role the provider assumes, if
  # any; see examples/multi-account-workspaces), or null to use the environment's credentials.
  cleanup_on_destroy            = true
  cleanup_python                = "python3"
  cleanup_profile               = null
  cleanup_role_arn              = null
  cleanup_use_instance_metadata = false
}

################################################################################
# The team's automation role, allowed to send commands to the action functions
################################################################################

resource "aws_iam_role" "ml_ops" {
  name               = "${local.name}-ml-ops"
  description        = "ML operations automation: may send Personalize Monitor commands"
  assume_role_policy = data.aws_iam_policy_document.ml_ops_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "ml_ops_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

################################################################################
# Customer managed key for the logs, the functions' environments, the topic and the queues
################################################################################

resource "aws_kms_key" "monitor" {
  description             = "Personalize Monitor ${local.name}: logs, function environments, notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "monitor" {
  name          = "alias/${lower(local.name)}"
  target_key_id = aws_kms_key.monitor.key_id
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key, and administration stays with the account (IAM policies decide).
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key, and administration stays with the account (IAM policies decide).
  #checkov:skip=CKV_AWS_356:Key policy: "*" is this key, and administration stays with the account (IAM policies decide).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "LogsEncryptTheFunctionLogGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-*"]
    }
  }

  statement {
    sid       = "AlarmsEventsAndTopicUseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

################################################################################
# The notification topic (sns_topic_arn) and a queue that receives every notification
################################################################################

resource "aws_sns_topic" "alerts" {
  name              = "${local.name}-alerts"
  display_name      = "Personalize Monitor"
  kms_master_key_id = aws_kms_key.monitor.arn
  tags              = local.tags
}

# The module does not change the policy of a topic it did not create: let the account's alarms
# publish. The module's functions publish with their roles (this account's IAM; key policy above).
resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json
}

data "aws_iam_policy_document" "alerts" {
  statement {
    sid       = "AlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue" "notifications" {
  name                      = "${local.name}-notifications"
  kms_master_key_id         = aws_kms_key.monitor.arn
  message_retention_seconds = 1209600
  tags                      = local.tags
}

resource "aws_sqs_queue_policy" "notifications" {
  queue_url = aws_sqs_queue.notifications.id
  policy    = data.aws_iam_policy_document.notifications_queue.json
}

data "aws_iam_policy_document" "notifications_queue" {
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.alerts.arn]
    }
  }
}

################################################################################
# Permissions boundary for every role the module creates
################################################################################

resource "aws_iam_policy" "boundary" {
  name        = "${local.name}-boundary"
  path        = "/personalize-monitor/"
  description = "Upper bound of what the Personalize Monitor functions may ever do"
  policy      = data.aws_iam_policy_document.boundary.json
  tags        = local.tags
}

data "aws_iam_policy_document" "boundary" {
  statement {
    sid = "ActionsWithoutResourceLevelPermissions"
    actions = [
      "cloudwatch:GetMetricData", "cloudwatch:ListDashboards",
      "personalize:ListCampaigns", "personalize:ListRecommenders", "personalize:ListTagsForResource",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "MonitorMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["PersonalizeMonitor"]
    }
  }

  statement {
    sid = "PersonalizeInThisAccount"
    actions = [
      "personalize:DescribeCampaign", "personalize:DescribeRecommender", "personalize:DescribeSolutionVersion",
      "personalize:UpdateCampaign", "personalize:UpdateRecommender", "personalize:DeleteCampaign",
      "personalize:StopRecommender",
    ]
    resources = ["arn:${local.partition}:personalize:*:${local.account_id}:*"]
  }

  statement {
    sid       = "ReadAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }

  statement {
    sid = "OwnAlarmsAndDashboards"
    actions = [
      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms",
      "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
      "cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards",
    ]
    resources = [
      "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.name}-*",
      "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.name}-*",
    ]
  }

  statement {
    sid       = "DefaultBus"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-*"]
  }

  # Lambda sends what the functions could not process to the module's dead-letter queue with the
  # functions' roles; the queue is encrypted with the key above (docs/reliability.md). The monitor
  # sends its commands to the action functions' command queues, which they receive from.
  statement {
    sid = "OwnQueues"
    actions = [
      "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    ]
    resources = [
      "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.name}-dead-letters",
      "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.name}-*-commands",
    ]
  }

  # The action functions write their notifications to the topic.
  statement {
    sid       = "NotificationTopic"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "DeadLetterQueueKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.monitor.arn]
  }
}
