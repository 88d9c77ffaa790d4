# The root module with the dashboard switched off (test configuration).
provider "aws" {
  region = "us-east-1"
}

module "personalize_monitor" {
  source = "../../.."

  create_dashboard = false
}

output "function_names" {
  value = module.personalize_monitor.function_names
}

output "dashboard_names" {
  value = module.personalize_monitor.dashboard_names
}
