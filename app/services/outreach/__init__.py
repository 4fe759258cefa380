"""Work the centre starts itself: planned callbacks by customer type (定期回访) and surveys (客户活动调查)."""
