terraform {
  # Terraform 1.4.0 added the terraform_data resource (the destroy-time teardown, teardown.tf);
  # optional() object attributes with defaults need 1.3.0.
  # https://github.com/hashicorp/terraform/blob/v1.4.0/CHANGELOG.md (1.4.0, March 8, 2023)
  required_version = ">= 1.4.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.32.0 is the first release whose aws_lambda_function and aws_lambda_layer_version accept
      # the python3.12 runtime (the default of var.lambda_runtime): "resource/aws_lambda_function:
      # Add support for `python3.12` `runtime` value (#35049)", 5.32.0 (January 11, 2024),
      # https://github.com/hashicorp/terraform-provider-aws/blob/v5.32.0/CHANGELOG.md
      # Every argument the module writes is checked against the 5.32.0 and 6.69.1 schemas by
      # tests/test_provider_schema.py; 7.x is unreleased and untested.
      version = ">= 5.32.0, < 7.0.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.5.0 added glob patterns to archive_file `excludes` ("**/__pycache__/**"); older
      # releases match them literally, so __pycache__ files would change the zips from machine to
      # machine: 2.5.0 (July 31, 2024),
      # https://github.com/hashicorp/terraform-provider-archive/blob/v2.5.0/CHANGELOG.md
      version = ">= 2.5.0"
    }
  }
}
