select "region"
from "main"."monthly_revenue_by_region"
where "region" is null