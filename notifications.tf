################################################################################
# Notifications: ONE SNS topic in the provider's (home) region, whatever the number of monitored
# regions, and its subscriptions. The monitor publishes every metric of the contract's namespace to
# the home region with the resource ARN (which carries the resource's region) as dimension, so the
# alarms it creates at run time for every resource (personalize_monitor.alarms) live in the home
# region too, as do the module's own alarms (alarms.tf). The action functions write their
# notifications to the topic themselves (and put the seed's notices on the default bus for the
# users' own rules): no rule routes bus events to the topic, so an event someone else puts on the
# bus never reaches a subscriber. Only the module's own alarms and functions can publish. One
# topic, one confirmation per subscriber. See docs/alarms-and-notifications.md.
################################################################################

locals {
  create_topic = var.sns_topic_arn == null
  topic_name   = var.name == local.contract.default_name ? "PersonalizeMonitorNotifications" : "${var.name}-Notifications"
  topic_arn    = local.create_topic ? aws_sns_topic.notifications[0].arn : var.sns_topic_arn

  subscriptions = merge(
    { for e in var.notification_emails : "email ${e}" => { protocol = "email", endpoint = e, subscription_role_arn = null } },
    { for s in var.notification_subscriptions : "${s.protocol} ${s.endpoint}" => s },
  )
}

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
