# tests/e2e/test_teardown_credentials.py: the destroy-time teardown when Terraform's credentials
# are written only in the provider block (here: the static keys of the generated local_override.tf).
provider "aws" {
  region = "us-east-1"
}

variable "cleanup_profile" {
  type    = string
  default = null
}

module "personalize_monitor" {
  source = "../../.."

  name            = "Teardown"
  cleanup_profile = var.cleanup_profile
}
