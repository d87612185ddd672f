select "quantity"
from "main"."stg_order_items"
where "quantity" is null