################################################################################
# Cost optimization actions: the update_tps, delete_campaign and stop_recommender functions,
# the command queues that are the only way the module's monitor (and command_principals) reach
# them, the opt-in rules on the seed's default-bus command events, the scheduled_capacity
# schedules, and the monitor's extra permissions for its hourly checks.
# See docs/cost-actions.md ("Who can change or delete a resource").
################################################################################

locals {
  default_bus_arn   = "arn:${local.partition}:events:${local.home_region}:${local.account_id}:event-bus/default"
  actions_alarm_arn = "arn:${local.partition}:cloudwatch:${local.home_region}:${local.account_id}:alarm:${var.name}-"

  # Schedules keyed by a short digest of ARN + expression: stable when entries are reordered,
  # and short enough for the 64-character rule name "<name>-update-tps-s-<digest>".
  scheduled_capacity = {
    for s in var.scheduled_capacity : substr(sha1("${s.arn} ${s.schedule_expression}"), 0, 8) => merge(s, {
      description = s.description == null ? "" : s.description
    })
  }
  scheduled_capacity_arns = distinct([for s in var.scheduled_capacity : s.arn])

  # A scheduled ARN must be one the deployment may act on (Settings.in_scope in config.py).
  scheduled_out_of_scope = [
    for arn in local.scheduled_capacity_arns : arn
    if !(
      length(regexall(":campaign/", arn)) > 0
      ? (local.all_campaigns ? (contains(local.discovery_regions, split(":", arn)[3]) && split(":", arn)[4] == local.account_id) : contains(var.campaign_arns, arn))
      : (local.all_recommenders ? (contains(local.discovery_regions, split(":", arn)[3]) && split(":", arn)[4] == local.account_id) : contains(var.recommender_arns, arn))
    )
  ]

  # The automatic step-down leaves resources with schedules alone (their schedules own them).
  monitor_actions_environment = {
    PM_SCHEDULED_CAPACITY_ARNS = jsonencode(local.scheduled_capacity_arns)
  }

  action_functions = module.action

  monitor_actions_policy_json = data.aws_iam_policy_document.monitor_actions.json

  # The seed's command events of each function (acted on only with accept_default_bus_commands).
  command_pattern = {
    update_tps       = ["UpdatePersonalizeCampaignMinProvisionedTPS", "UpdatePersonalizeRecommenderMinRecommendationRPS"]
    delete_campaign  = ["DeletePersonalizeCampaign"]
    stop_recommender = ["StopPersonalizeRecommender"]
  }

  # One command queue per action function, "<function name>-commands" (SQS allows 80 characters;
  # the name variable keeps function names at most 64). The functions find it by this name
  # (personalize_monitor.commands.queue_name), so the 4 KB environments need not carry its URL.
  action_function_names = { for role in keys(local.command_pattern) : role => "${var.name}-${replace(role, "_", "-")}" }
  command_queue_names   = { for role, fn in local.action_function_names : role => "${fn}-commands" }
  command_queue_arns    = { for role, q in local.command_queue_names : role => "arn:${local.partition}:sqs:${local.home_region}:${local.account_id}:${q}" }

  # Who may send commands: the monitor, the principals the user names, and the retiring functions
  # themselves (an idle retirement given before its data has settled goes back to its own queue).
  role_arn_prefix  = "arn:${local.partition}:iam::${local.account_id}:role${var.iam_role_path}"
  monitor_role_arn = "${local.role_arn_prefix}${var.name}-monitor"
  deferring_roles  = ["delete_campaign", "stop_recommender"]
  command_senders = {
    for role, fn in local.action_function_names : role => distinct(concat(
      [local.monitor_role_arn],
      contains(local.deferring_roles, role) ? ["${local.role_arn_prefix}${fn}"] : [],
      var.command_principals,
    ))
  }
  # Lambda's advice for queues that trigger a function: a visibility timeout of six times its timeout.
  action_timeout = 60
}

################################################################################
# Permissions (least privilege: Personalize actions only on the ARNs in scope, events only
# from source personalize.monitor on the default bus, alarms only the module's own)
################################################################################

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
      values   = ["personalize.monitor"]
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
    resources = ["${local.actions_alarm_arn}*"]
  }

  statement {
    sid       = "DeleteOwnCampaignAlarms"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource"]
    resources = ["${local.actions_alarm_arn}LowCampaignUtilization-*", "${local.actions_alarm_arn}IdleCampaign-*"]
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
    resources = ["${local.actions_alarm_arn}*"]
  }

  statement {
    sid       = "DeleteOwnRecommenderAlarms"
    actions   = ["cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource"]
    resources = ["${local.actions_alarm_arn}LowRecommenderUtilization-*", "${local.actions_alarm_arn}IdleRecommender-*"]
  }
}

################################################################################
# Functions
################################################################################

locals {
  # The seed's behaviour, opt-in: command events from this account's default bus (the pattern
  # names the account, and the functions check it again).
  default_bus_command_rules = {
    for role, types in local.command_pattern : role => {
      for key in ["command"] : key => {
        description   = "${join(", ", types)} events from this account's default bus (accept_default_bus_commands) to the ${replace(role, "_", "-")} function"
        event_pattern = jsonencode({ source = ["personalize.monitor"], "detail-type" = types, account = [local.account_id] })
      } if var.accept_default_bus_commands
    }
  }

  # What differs between the three action functions; module "action" below builds each.
  action_function_specs = {
    update_tps = {
      description = "Sets the minimum TPS/RPS of a Personalize campaign or recommender (step-down commands, scheduled capacity)"
      policy_json = data.aws_iam_policy_document.update_tps.json
      event_rules = merge(
        local.default_bus_command_rules.update_tps,
        {
          for key, s in local.scheduled_capacity : "s-${key}" => {
            description         = substr("Scheduled capacity: min ${s.min_tps} for ${split("/", s.arn)[1]} at ${s.schedule_expression}. ${s.description}", 0, 512)
            schedule_expression = s.schedule_expression
            input = jsonencode({
              ARN       = s.arn
              NewMinTPS = s.min_tps
              Reason    = "scheduled_capacity ${s.schedule_expression}${s.description == "" ? "" : ": ${s.description}"}"
            })
          }
        },
      )
    }
    delete_campaign = {
      description = "Deletes an idle Personalize campaign when every idle condition holds (auto_delete_or_stop_idle_resources)"
      policy_json = data.aws_iam_policy_document.delete_campaign.json
      event_rules = local.default_bus_command_rules.delete_campaign
    }
    stop_recommender = {
      description = "Stops an idle Personalize recommender when every idle condition holds (auto_delete_or_stop_idle_resources)"
      policy_json = data.aws_iam_policy_document.stop_recommender.json
      event_rules = local.default_bus_command_rules.stop_recommender
    }
  }
}

module "action" {
  source   = "./modules/lambda-function"
  for_each = local.action_function_specs

  function_name = local.action_function_names[each.key]
  description   = each.value.description
  source_dir    = "${path.module}/functions/${each.key}"
  handler       = "${each.key}.lambda_handler"
  timeout       = local.action_timeout
  memory_size   = 256
  layers        = [aws_lambda_layer_version.shared.arn]
  policy_json   = each.value.policy_json
  environment   = local.common_environment
  event_rules   = each.value.event_rules

  build_dir                = local.function_defaults.build_dir
  runtime                  = local.function_defaults.runtime
  log_retention_days       = local.function_defaults.log_retention_days
  kms_key_arn              = local.function_defaults.kms_key_arn
  permissions_boundary_arn = local.function_defaults.permissions_boundary_arn
  iam_role_path            = local.function_defaults.iam_role_path
  tags                     = var.tags

  # Retries and the dead-letter queue (reliability.tf).
  dead_letter_queue_arn              = local.reliable_delivery.dead_letter_queue_arn
  dead_letter_queue_kms_key_arn      = local.reliable_delivery.dead_letter_queue_kms_key_arn
  async_max_retry_attempts           = local.reliable_delivery.async_max_retry_attempts
  async_max_event_age_seconds        = local.reliable_delivery.async_max_event_age_seconds
  event_target_max_retry_attempts    = local.reliable_delivery.event_target_max_retry_attempts
  event_target_max_event_age_seconds = local.reliable_delivery.event_target_max_event_age_seconds
}

# 0.1.0 declared one module block per action function.
moved {
  from = module.update_tps
  to   = module.action["update_tps"]
}

moved {
  from = module.delete_campaign
  to   = module.action["delete_campaign"]
}

moved {
  from = module.stop_recommender
  to   = module.action["stop_recommender"]
}

################################################################################
# Command queues: the module's channel from the monitor (and command_principals) to the functions
################################################################################

resource "aws_sqs_queue" "commands" {
  #checkov:skip=CKV_AWS_27:Encrypted: SSE-KMS with var.kms_key_arn when set, otherwise SSE-SQS, which SQS enables on every new queue by default (sqs_managed_sse_enabled cannot be written: the aws provider 3.39 does not have it).
  for_each = local.command_queue_names

  name                       = each.value
  visibility_timeout_seconds = 6 * local.action_timeout
  message_retention_seconds  = local.dead_letter_retention_seconds
  kms_master_key_id          = var.kms_key_arn
  # A command whose function failed three times (AWS errors before it changed anything) waits in
  # the dead-letter queue, alarmed, for scripts/replay_dead_letters.py.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dead_letters.arn, maxReceiveCount = 3 })
  tags           = var.tags
}

data "aws_iam_policy_document" "commands" {
  for_each = local.command_queue_names

  # Nothing over plain HTTP (AWS's advice for SQS, as for the dead-letter queue in reliability.tf).
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.command_queue_arns[each.key]]

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
    sid       = "AllowTrustedSenders"
    actions   = ["sqs:SendMessage"]
    resources = [local.command_queue_arns[each.key]]

    principals {
      type        = "AWS"
      identifiers = local.command_senders[each.key]
    }
  }

  # Nobody else may send, whatever their own IAM policies allow: a command that changes or
  # deletes a resource must come from the module or from a principal named in command_principals.
  statement {
    sid       = "DenyEveryoneElse"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [local.command_queue_arns[each.key]]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.command_senders[each.key]
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for p in var.command_principals : split(":", p)[4] == local.account_id])
      error_message = "Every command_principals entry must be in this deployment's account (${local.account_id}): commands from another account are never acted on. Not in it: ${join(", ", [for p in var.command_principals : p if split(":", p)[4] != local.account_id])}."
    }
  }
}

resource "aws_sqs_queue_policy" "commands" {
  for_each = local.command_queue_names

  queue_url = aws_sqs_queue.commands[each.key].id
  policy    = data.aws_iam_policy_document.commands[each.key].json

  # SQS checks that the role principals exist.
  depends_on = [module.monitor, module.action]
}

resource "aws_lambda_event_source_mapping" "commands" {
  for_each = local.command_queue_names

  event_source_arn = aws_sqs_queue.commands[each.key].arn
  function_name    = module.action[each.key].function_arn
  # One command per invocation: a failure retries that command alone.
  batch_size = 1
}
