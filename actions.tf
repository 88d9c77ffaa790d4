################################################################################
# Cost optimization actions (issue 4) - placeholder wiring, filled in by that work
################################################################################

locals {
  action_functions            = {}
  monitor_actions_policy_json = ""
}
