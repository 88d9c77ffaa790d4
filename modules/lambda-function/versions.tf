terraform {
  # Same floors as the root module (sources cited in ../../versions.tf): python3.12 in
  # aws_lambda_function.runtime needs hashicorp/aws 5.32.0, glob patterns in archive_file
  # excludes need hashicorp/archive 2.5.0; optional() object attributes need Terraform 1.3.0.
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32.0, < 7.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.5.0"
    }
  }
}
