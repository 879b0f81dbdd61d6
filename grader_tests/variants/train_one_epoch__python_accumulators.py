"""train_one_epoch with the loss and correct counts accumulated in lists of device tensors, summed
once at the end, and zero_grad() before the forward pass."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
SOURCE = '''
def train_one_epoch(model, batches, optimizer, device, scheduler=None, amp_dtype=None):
    model.train()
    device = torch.device(device)
    losses, hits, n = [], [], 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            scores = model(x)
            loss = F.cross_entropy(scores, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().float() * len(y))
        hits.append((scores.argmax(1) == y).sum())
        n += len(y)
    if scheduler is not None:
        scheduler.step()
    if n == 0:
        return {"loss": 0.0, "accuracy": 0.0}
    return {"loss": torch.stack(losses).sum().item() / n, "accuracy": torch.stack(hits).sum().item() / n}
'''
