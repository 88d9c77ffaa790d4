################################################################################
# Checks made at plan time that no single variable's validation can make (derived_metrics =
# "stored" with publish_derived_metrics = false contradicts itself). Every function receives
# the settings in its environment, which Lambda limits to 4 KB (the JSON of all variables
# together). The per-variable limits (variables.tf) keep ordinary settings well inside it; this
# check catches what they cannot see together (long ARNs, many tags, 20 regions,
# scheduled_capacity), at plan time rather than halfway through an apply. The topic ARN is only
# known after apply; its constructed form has the same length. Checks tied to one resource stay
# with it as preconditions: both ARN lists empty (iam.tf, discovery), scheduled_capacity out of
# scope (iam.tf, update_tps), a topic in another region (iam.tf, action_common), command_principals
# of another account (commands.tf).
################################################################################

locals {
  planned_topic_arn = local.create_topic ? "arn:${local.partition}:sns:${local.home_region}:${local.account_id}:${local.topic_name}" : var.sns_topic_arn
  planned_values = {
    (local.contract.settings.notification_topic_arn.env) = local.planned_topic_arn
  }
  planned_environments = {
    monitor = merge(local.monitor_environment, local.planned_values)
    others  = merge(local.common_environment, local.planned_values)
  }
  environment_sizes = { for k, v in local.planned_environments : k => length(jsonencode(v)) }
}

# Read at plan time (no API call); carries the check.
data "aws_partition" "settings_check" {
  lifecycle {
    precondition {
      condition     = max(values(local.environment_sizes)...) <= 4096
      error_message = "The settings do not fit in a Lambda environment: the monitor's would be ${local.environment_sizes.monitor} bytes, the other functions' ${local.environment_sizes.others}, and Lambda allows 4096 (4 KB) for all variables together. List fewer or shorter campaign_arns / recommender_arns (or use [\"all\"] with regions), or use fewer tags or scheduled_capacity ARNs."
    }
    precondition {
      condition     = !(var.derived_metrics == "stored" && !var.publish_derived_metrics)
      error_message = "derived_metrics = \"stored\" contradicts publish_derived_metrics = false: leave derived_metrics null (publish_derived_metrics decides), or choose \"metric_math\" or \"none\"."
    }
  }
}
