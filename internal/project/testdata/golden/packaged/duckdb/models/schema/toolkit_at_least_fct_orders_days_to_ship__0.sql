
select days_to_ship
from (select * from "analytics"."fct_orders" where days_to_ship is not null) dbt_subquery
where days_to_ship < 0
