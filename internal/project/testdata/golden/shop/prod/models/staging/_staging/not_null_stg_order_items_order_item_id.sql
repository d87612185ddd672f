select "order_item_id"
from "main"."stg_order_items"
where "order_item_id" is null