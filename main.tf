################################################################################
# The module's common ground: the caller's account, partition and region; the contract every side
# shares (contract.json in the layer package: alarm labels, event detail types, function and
# command queue names, metric names, tag keys, setting names and defaults); the scope of campaigns
# and recommenders and the ARNs the functions may touch; the settings every function receives in
# its environment; and the names and ARN prefixes the other files build on. Each other file owns
# one concern: functions.tf, iam.tf, commands.tf, notifications.tf, alarms.tf, dashboard.tf,
# dead_letters.tf, teardown.tf, checks.tf.
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The names HCL, the layer and scripts/ share (functions/layer/python/personalize_monitor/contract.py).
  contract = jsondecode(file("${path.module}/functions/layer/python/personalize_monitor/contract.json"))

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

  # Every function's name by role ("<name>-<suffix>"), the roles Lambda runs them with
  # ("<iam_role_path><function name>", modules/lambda-function), the action functions' roles.
  function_names   = { for role, f in local.contract.functions : role => format(local.contract.function_name_format, var.name, f.suffix) }
  role_arn_prefix  = "arn:${local.partition}:iam::${local.account_id}:role${var.iam_role_path}"
  action_roles     = local.contract.action_functions
  default_bus_arn  = "arn:${local.partition}:events:${local.home_region}:${local.account_id}:event-bus/default"
  alarm_arn_prefix = "arn:${local.partition}:cloudwatch:${local.home_region}:${local.account_id}:alarm:${var.name}-"

  # var.derived_metrics, or what publish_derived_metrics implies (config.py resolves it the same way).
  derived_metrics = coalesce(var.derived_metrics, var.publish_derived_metrics ? "stored" : "none")

  # Settings every function reads (functions/layer/python/personalize_monitor/config.py), by their
  # contract names; the environment variable of each is in contract.json.
  setting_values = {
    name                               = var.name
    regions                            = jsonencode(var.regions)
    campaign_arns                      = jsonencode(var.campaign_arns)
    recommender_arns                   = jsonencode(var.recommender_arns)
    tags                               = jsonencode(var.tags)
    notification_topic_arn             = local.notification_topic_arn
    auto_create_utilization_alarms     = tostring(var.auto_create_utilization_alarms)
    utilization_threshold_percent      = tostring(var.utilization_threshold_percent)
    auto_create_idle_alarms            = tostring(var.auto_create_idle_alarms)
    idle_threshold_hours               = tostring(var.idle_threshold_hours)
    auto_adjust_min_tps                = tostring(var.auto_adjust_min_tps)
    auto_delete_or_stop_idle_resources = tostring(var.auto_delete_or_stop_idle_resources)
    dry_run                            = tostring(var.dry_run)
    protection_tag_key                 = var.protection_tag_key
    price_per_tps_hour                 = tostring(var.campaign_price_per_tps_hour)
    price_per_rps_hour                 = tostring(var.recommender_price_per_rps_hour)
    alarm_writes_per_second            = tostring(var.alarm_writes_per_second)
    publish_derived_metrics            = tostring(local.derived_metrics == "stored")
    dashboard_name                     = var.create_dashboard ? local.dashboard_name : ""
    accept_default_bus_commands        = tostring(var.accept_default_bus_commands)
  }
  # Tuning the functions default themselves (to contract.json's default, the variable's too): sent
  # only when set to another value, which keeps the environments (4 KB, checks.tf) small.
  tuning_values = {
    log_level                = var.log_level
    describe_rate_per_second = tostring(var.describe_rate_per_second)
  }
  common_environment = merge(
    { for key, value in local.setting_values : local.contract.settings[key].env => value },
    { for key, value in local.tuning_values : local.contract.settings[key].env => value if value != tostring(local.contract.settings[key].default) },
    # "stored" and "none" are what PM_PUBLISH_DERIVED_METRICS already says (true / false): the
    # mode is sent only when it says more, so the environments of existing deployments stay as they were.
    local.derived_metrics == "metric_math" ? { (local.contract.settings.derived_metrics.env) = local.derived_metrics } : {},
  )

  # Settings every function module receives (modules/lambda-function).
  function_defaults = {
    build_dir                = local.build_dir
    runtime                  = var.lambda_runtime
    log_retention_days       = var.log_retention_days
    kms_key_arn              = var.kms_key_arn
    permissions_boundary_arn = var.permissions_boundary_arn
    iam_role_path            = var.iam_role_path
  }
}
