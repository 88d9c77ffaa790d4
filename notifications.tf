################################################################################
# Notifications and alarms (issue 3) - placeholder wiring, filled in by that work
################################################################################

locals {
  notification_topic_arn     = ""
  monitor_alarms_policy_json = ""
}
