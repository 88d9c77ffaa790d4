# The root module with every variable at its default (test configuration).
provider "aws" {
  region = "us-east-1"
}

module "personalize_monitor" {
  source = "../../.."
}

output "function_names" {
  value = module.personalize_monitor.function_names
}
