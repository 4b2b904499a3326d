{{ config(materialized='materialized_view', dist='customer_id', sort='customer_id',
          backup=false, auto_refresh=true) }}
select customer_id, count(*) as orders, sum(amount) as amount
from {{ ref('orders') }}
group by customer_id
