{% snapshot orders_check %}
{{ config(target_schema=target.schema ~ '_snapshots', unique_key='order_id',
          strategy='check', check_cols=['status', 'amount']) }}
select order_id, customer_id, status, amount from {{ ref('orders') }}
{% endsnapshot %}

{% snapshot orders_timestamp %}
{{ config(target_schema=target.schema ~ '_snapshots', unique_key='order_id',
          strategy='timestamp', updated_at='updated_at') }}
select order_id, customer_id, status, amount, updated_at
from {{ ref('orders') }}
{% endsnapshot %}
