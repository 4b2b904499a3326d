{{ config(dist='customer_id', sort=['first_order', 'customer_id'], backup=false) }}
select c.customer_id, c.name, c.tier, min(o.order_date) as first_order,
       count(o.order_id) as order_count, sum(o.amount) as total_amount
from {{ ref('stg_customers') }} c
left join {{ ref('orders') }} o on o.customer_id = c.customer_id
group by 1, 2, 3
