"""Shared layer of the Personalize Monitor functions: Personalize and CloudWatch logic.

Depends on nothing but the standard library and boto3 (present in the Lambda runtime).
"""

__version__ = "0.1.0"
