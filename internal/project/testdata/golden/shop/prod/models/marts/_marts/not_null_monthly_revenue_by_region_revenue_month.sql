select "revenue_month"
from "main"."monthly_revenue_by_region"
where "revenue_month" is null