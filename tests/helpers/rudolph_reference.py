"""An independent, deliberately naive RUDOLPH forward written from the spec in the style of the
reference code: masks built by loops over key columns, a dense (S, S) float mask multiplied into
every layer, scores ``s * mask - 10000 * (1 - mask)``, explicit tanh GELU. Tests compare the
model in ``solution/`` against it; it shares no code with it.
"""

import math

import torch


def loop_masks(l: int, m: int, r: int, kernel: int, last_kernel: int) -> dict[str, torch.Tensor]:
    size = l + m * m + r
    end = l + m * m

    def causal():
        return torch.tril(torch.ones(size, size))

    row = causal()
    for key in range(l, end):
        row[key + m + 1:end, key] = 0
    col = causal()
    for key in range(l, end):
        for query in range(key + 1, end):
            if (query - key) % m:
                col[query, key] = 0

    def conv(k):
        mask = causal()
        shift = k // 2
        for key in range(l, end):
            mask[key + 1:end, key] = 0
            kr, kc = divmod(key - l, m)
            for dr in range(-shift, shift + 1):
                for dc in range(-shift, shift + 1):
                    r_abs = max(min(kr + dr, m - 1), 0)
                    c_abs = max(min(kc + dc, m - 1), 0)
                    cell = l + r_abs * m + c_abs
                    if cell > key:
                        mask[cell, key] = 1
        return mask

    return {"row_mask": row, "col_mask": col, "conv_mask": conv(kernel), "last_conv_mask": conv(last_kernel)}


def layer_kind(i: int, n: int) -> str:
    if (i - 1) % 4 == 0:
        return "col_mask"
    if i == n - 1:
        return "last_conv_mask"
    if (i - 3) % 4 == 0:
        return "conv_mask"
    return "row_mask"


def gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * x * (1.0 + 0.044715 * x * x)))


def layer_norm(x, sd, name):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps=1e-5)


def linear(x, sd, name):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def reference_forward(params: dict, sd: dict, input_ids: torch.Tensor) -> torch.Tensor:
    l, m, r = params["l_text_seq_length"], params["image_tokens_per_dim"], params["r_text_seq_length"]
    heads, n_layers = params["num_attention_heads"], params["num_layers"]
    v_text = params["vocab_size"] + params["text_special_tokens"]
    b, n = input_ids.shape

    left = input_ids[:, :l].clone()
    pad_ids = torch.arange(left.shape[1]) + v_text - l
    left = torch.where(left == 0, pad_ids, left)
    emb = [sd["text_embeddings.weight"][left] + sd["l_text_pos_embeddings.weight"][:left.shape[1]]]
    if n > l:
        img = input_ids[:, l:l + m * m]
        pos = torch.arange(img.shape[1])
        emb.append(sd["image_embeddings.weight"][img] + sd["image_row_embeddings.weight"][pos // m]
                   + sd["image_col_embeddings.weight"][pos % m])
    if n > l + m * m:
        rt = input_ids[:, l + m * m:]
        emb.append(sd["text_embeddings.weight"][rt] + sd["r_text_pos_embeddings.weight"][:rt.shape[1]])
    x = torch.cat(emb, dim=1)

    masks = loop_masks(l, m, r, params["kernel_size"], params["last_kernel_size"])
    attention_mask = torch.tril(torch.ones(b, 1, l + m * m + r, l + m * m + r))[:, :, :n, :n]
    h = x.shape[-1]
    d = h // heads
    for i in range(n_layers):
        p = f"transformer.layers.{i}."
        mask = attention_mask * masks[layer_kind(i, n_layers)][:n, :n]
        y = layer_norm(x, sd, p + "input_layernorm")
        qkv = linear(y, sd, p + "attention.query_key_value")
        q, k, v = (t.reshape(b, n, heads, d).permute(0, 2, 1, 3) for t in qkv.chunk(3, dim=-1))
        scores = (q / math.sqrt(d)) @ k.transpose(-1, -2)
        scores = scores * mask - 10000.0 * (1.0 - mask)
        ctx = (scores.softmax(dim=-1) @ v).permute(0, 2, 1, 3).reshape(b, n, h)
        a = linear(ctx, sd, p + "attention.dense").clamp(-65504, 65504)
        a = layer_norm(a, sd, p + "before_first_addition_layernorm")
        x = x + a
        f = linear(gelu(linear(layer_norm(x, sd, p + "post_attention_layernorm"), sd, p + "mlp.dense_h_to_4h")),
                   sd, p + "mlp.dense_4h_to_h")
        f = layer_norm(f, sd, p + "before_second_addition_layernorm")
        x = x + f
    x = layer_norm(x, sd, "transformer.final_layernorm")
    x = layer_norm(x, sd, "to_logits.0")
    return linear(x, sd, "to_logits.1")
