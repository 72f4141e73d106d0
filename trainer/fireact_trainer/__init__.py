"""FireAct trainer."""
