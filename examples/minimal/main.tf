provider "aws" {
  region = "us-east-1"
}

module "personalize_monitor" {
  source = "../.."
}
