# Placeholder: replace this directory's contents with your own Terraform (cluster, services, load
# balancer with a test listener, the deploy roles). It plans and applies nothing, and needs no
# provider, so examples/workflows/infrastructure.yml runs green before you start. README.md lists
# what the workflow expects.

terraform {
  required_version = ">= 1.6.0"

  # Your state goes here, for example (S3 locking needs Terraform 1.10 or later):
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "app/terraform.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

output "placeholder" {
  description = "Remove with the rest of this file."
  value       = "replace examples/infrastructure with your Terraform"
}
