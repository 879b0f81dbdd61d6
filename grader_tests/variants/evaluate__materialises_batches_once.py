"""evaluate that first turns the batches into a list (one pass over the loader), counts the samples on
the list, then loops over the list (fine: the loader itself is read once)."""

TASK = "evaluate"
CELL = "evaluate_solution"
SOURCE = '''
def evaluate(model, batches, device, amp_dtype=None):
    device = torch.device(device)
    model.eval()
    data = list(batches)
    total = sum(int(y.shape[0]) for _, y in data)
    loss_sum = torch.zeros((), device=device)
    hits = torch.zeros((), device=device, dtype=torch.long)
    with torch.inference_mode():
        for x, y in data:
            x, y = x.to(device), y.to(device)
            with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                scores = model(x).float()
            loss_sum += F.cross_entropy(scores, y, reduction="sum")
            hits += (scores.argmax(1) == y).sum()
    return {"loss": loss_sum.item() / max(total, 1), "accuracy": hits.item() / max(total, 1)}
'''
