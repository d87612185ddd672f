select "order_date"
from "main"."daily_revenue"
where "order_date" is null