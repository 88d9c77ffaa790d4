################################################################################
# Dashboard (issue 5) - placeholder wiring, filled in by that work
################################################################################

locals {
  dashboard_name                = var.name == "PersonalizeMonitor" ? "Amazon-Personalize-Monitor" : "${var.name}-Dashboard"
  dashboard_functions           = {}
  monitor_dashboard_policy_json = ""
}
