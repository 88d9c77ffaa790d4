################################################################################
# Cost optimization actions (issue 4): update_tps, delete_campaign, stop_recommender, their
# rules on the seed's command events, the scheduled_capacity schedules, and the monitor's
# extra permissions for its hourly checks. See docs/cost-actions.md.
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

  command_pattern = {
    update_tps       = ["UpdatePersonalizeCampaignMinProvisionedTPS", "UpdatePersonalizeRecommenderMinRecommendationRPS"]
    delete_campaign  = ["DeletePersonalizeCampaign"]
    stop_recommender = ["StopPersonalizeRecommender"]
  }
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
    sid       = "CostChecksPublishCommands"
    actions   = ["events:PutEvents"]
    resources = [local.default_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = ["personalize.monitor"]
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
}

data "aws_iam_policy_document" "update_tps" {
  source_policy_documents = [data.aws_iam_policy_document.action_common.json]

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
  source_policy_documents = [data.aws_iam_policy_document.action_common.json]

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
  source_policy_documents = [data.aws_iam_policy_document.action_common.json]

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
  # What differs between the three action functions; module "action" below builds each.
  action_function_specs = {
    update_tps = {
      description = "Sets the minimum TPS/RPS of a Personalize campaign or recommender (step-down commands, scheduled capacity)"
      policy_json = data.aws_iam_policy_document.update_tps.json
      event_rules = merge(
        {
          command = {
            description   = "Update min TPS/RPS commands (source personalize.monitor) to the update-tps function"
            event_pattern = jsonencode({ source = ["personalize.monitor"], "detail-type" = local.command_pattern.update_tps })
          }
        },
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
      event_rules = {
        command = {
          description   = "DeletePersonalizeCampaign commands (source personalize.monitor) to the delete-campaign function"
          event_pattern = jsonencode({ source = ["personalize.monitor"], "detail-type" = local.command_pattern.delete_campaign })
        }
      }
    }
    stop_recommender = {
      description = "Stops an idle Personalize recommender when every idle condition holds (auto_delete_or_stop_idle_resources)"
      policy_json = data.aws_iam_policy_document.stop_recommender.json
      event_rules = {
        command = {
          description   = "StopPersonalizeRecommender commands (source personalize.monitor) to the stop-recommender function"
          event_pattern = jsonencode({ source = ["personalize.monitor"], "detail-type" = local.command_pattern.stop_recommender })
        }
      }
    }
  }
}

module "action" {
  source   = "./modules/lambda-function"
  for_each = local.action_function_specs

  function_name = "${var.name}-${replace(each.key, "_", "-")}"
  description   = each.value.description
  source_dir    = "${path.module}/functions/${each.key}"
  handler       = "${each.key}.lambda_handler"
  timeout       = 60
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
