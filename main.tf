data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  home_region = data.aws_region.current.id
  build_dir   = "${path.root}/.build/${var.name}"

  all_campaigns      = var.campaign_arns == tolist(["all"])
  all_recommenders   = var.recommender_arns == tolist(["all"])
  discovery_regions  = length(var.regions) > 0 ? var.regions : [local.home_region]
  explicit_arns      = concat(local.all_campaigns ? [] : var.campaign_arns, local.all_recommenders ? [] : var.recommender_arns)
  explicit_regions   = [for arn in local.explicit_arns : split(":", arn)[3]]
  monitored_regions  = distinct(concat(local.all_campaigns || local.all_recommenders ? local.discovery_regions : [], local.explicit_regions))
  personalize_prefix = "arn:${local.partition}:personalize"

  # Resource ARNs the functions may describe (and, for the action functions, change).
  campaign_resources = local.all_campaigns ? [
    for r in local.discovery_regions : "${local.personalize_prefix}:${r}:${local.account_id}:campaign/*"
  ] : var.campaign_arns
  recommender_resources = local.all_recommenders ? [
    for r in local.discovery_regions : "${local.personalize_prefix}:${r}:${local.account_id}:recommender/*"
  ] : var.recommender_arns
  solution_resources = [
    for r in local.monitored_regions : "${local.personalize_prefix}:${r}:${local.account_id}:solution/*"
  ]

  # Settings every function reads (see functions/layer/python/personalize_monitor/config.py).
  common_environment = {
    PM_NAME                               = var.name
    PM_REGIONS                            = jsonencode(var.regions)
    PM_CAMPAIGN_ARNS                      = jsonencode(var.campaign_arns)
    PM_RECOMMENDER_ARNS                   = jsonencode(var.recommender_arns)
    PM_TAGS                               = jsonencode(var.tags)
    PM_NOTIFICATION_TOPIC_ARN             = local.notification_topic_arn
    PM_AUTO_CREATE_UTILIZATION_ALARMS     = tostring(var.auto_create_utilization_alarms)
    PM_UTILIZATION_THRESHOLD_PERCENT      = tostring(var.utilization_threshold_percent)
    PM_AUTO_CREATE_IDLE_ALARMS            = tostring(var.auto_create_idle_alarms)
    PM_IDLE_THRESHOLD_HOURS               = tostring(var.idle_threshold_hours)
    PM_AUTO_ADJUST_MIN_TPS                = tostring(var.auto_adjust_min_tps)
    PM_AUTO_DELETE_OR_STOP_IDLE_RESOURCES = tostring(var.auto_delete_or_stop_idle_resources)
    PM_DRY_RUN                            = tostring(var.dry_run)
    PM_PROTECTION_TAG_KEY                 = var.protection_tag_key
    PM_PRICE_PER_TPS_HOUR                 = tostring(var.campaign_price_per_tps_hour)
    PM_PRICE_PER_RPS_HOUR                 = tostring(var.recommender_price_per_rps_hour)
    PM_ALARM_WRITES_PER_SECOND            = tostring(var.alarm_writes_per_second)
    PM_PUBLISH_DERIVED_METRICS            = tostring(var.publish_derived_metrics)
    PM_DASHBOARD_NAME                     = var.create_dashboard ? local.dashboard_name : ""
    PM_ACCEPT_DEFAULT_BUS_COMMANDS        = tostring(var.accept_default_bus_commands)
  }

  # Every Lambda function of the module by role; each feature file adds its own map.
  functions = merge({ monitor = module.monitor }, local.action_functions, local.dashboard_functions)

  # The monitor's IAM policy: the base statements below plus each feature's (unique Sids).
  monitor_policy_documents = compact([
    data.aws_iam_policy_document.discovery.json,
    data.aws_iam_policy_document.monitor.json,
    local.monitor_alarms_policy_json,
    local.monitor_actions_policy_json,
    local.monitor_dashboard_policy_json,
  ])

  function_defaults = {
    build_dir                = local.build_dir
    runtime                  = var.lambda_runtime
    log_retention_days       = var.log_retention_days
    kms_key_arn              = var.kms_key_arn
    permissions_boundary_arn = var.permissions_boundary_arn
    iam_role_path            = var.iam_role_path
  }
}

################################################################################
# Shared layer: the Personalize and CloudWatch logic every function imports
################################################################################

data "archive_file" "layer" {
  type             = "zip"
  source_dir       = "${path.module}/functions/layer"
  output_path      = "${local.build_dir}/layer.zip"
  output_file_mode = "0644"
  excludes         = ["**/__pycache__/**", "**/*.pyc"]
}

resource "aws_lambda_layer_version" "shared" {
  layer_name          = "${var.name}-shared"
  description         = "Personalize Monitor shared code (personalize_monitor package)"
  filename            = data.archive_file.layer.output_path
  source_code_hash    = data.archive_file.layer.output_base64sha256
  compatible_runtimes = [var.lambda_runtime]
}

################################################################################
# Monitor: every 5 minutes, discover and measure campaigns and recommenders
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

  statement {
    sid       = "DescribeSolutionVersions"
    actions   = ["personalize:DescribeSolutionVersion"]
    resources = local.solution_resources
  }

  lifecycle {
    # Otherwise DescribeSolutionVersions has no resources and IAM rejects the policy at apply.
    precondition {
      condition     = length(concat(local.campaign_resources, local.recommender_resources)) > 0
      error_message = "The campaign_arns and recommender_arns cannot both be [] (there would be nothing to monitor): use [\"all\"] or list ARNs in at least one of them."
    }
  }
}

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
      values   = ["PersonalizeMonitor"]
    }
  }

}

data "aws_iam_policy_document" "monitor_combined" {
  source_policy_documents = local.monitor_policy_documents
}

module "monitor" {
  source = "./modules/lambda-function"

  function_name = "${var.name}-monitor"
  description   = "Measures Personalize campaigns and recommenders every 5 minutes"
  source_dir    = "${path.module}/functions/monitor"
  handler       = "monitor.lambda_handler"
  timeout       = var.monitor_timeout
  memory_size   = var.monitor_memory_size
  # No reservation by default (var.monitor_reserved_concurrency): reserving fails in accounts with a
  # low concurrency quota, and overlapping runs are harmless (tests/e2e/test_concurrency.py).
  reserved_concurrent_executions = var.monitor_reserved_concurrency
  layers                         = [aws_lambda_layer_version.shared.arn]
  policy_json                    = data.aws_iam_policy_document.monitor_combined.json
  environment                    = merge(local.common_environment, local.monitor_actions_environment)

  event_rules = {
    schedule = {
      description         = "Runs the Personalize monitor"
      schedule_expression = var.monitor_schedule_expression
    }
  }

  build_dir                = local.function_defaults.build_dir
  runtime                  = local.function_defaults.runtime
  log_retention_days       = local.function_defaults.log_retention_days
  kms_key_arn              = local.function_defaults.kms_key_arn
  permissions_boundary_arn = local.function_defaults.permissions_boundary_arn
  iam_role_path            = local.function_defaults.iam_role_path
  tags                     = var.tags
}
