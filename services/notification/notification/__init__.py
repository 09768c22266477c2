"""The notification service: tells families (and card households' organisations) what happened."""
